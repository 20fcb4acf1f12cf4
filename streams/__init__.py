"""The Kafka side of tradewatch: faust app, agents, topics and the command line."""
