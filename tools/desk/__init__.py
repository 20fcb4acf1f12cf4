"""The case desk: an analyst's queue, case pages with their evidence, and decisions made under
a signed-in name, served in the browser (`tradewatch desk`).

- store.py: the desk's SQLite store of cases, decisions and rulings;
- sync.py: the reader that keeps it up to date from the topics;
- auth.py: users, roles and passwords;
- evidence.py: a case's evidence made readable;
- app.py: the pages;
- serve.py: the commands.
"""
