"""The tools around the worker: what an analyst, a tester or a demo runs, never production's hot
path (that is `streams/`).

- generate.py: synthetic declaration feeds; demo.py: the live demo feed;
- backtest.py: `tradewatch backtest`, the offline pipeline over a file;
- console.py: the ops console; follow.py: `tradewatch alerts`; webhook_echo.py: a webhook
  printer for Alertmanager;
- desk/: the case desk in the browser.
"""
