"""Rules, reference data, alert building and sinks: the pure core of tradewatch."""
