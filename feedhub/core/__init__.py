"""The small shared core every other package stands on: settings (`config`), the error
family (`errors`), our frozen types (`types`), URLs (`urls`), the list cursor (`cursor`),
where our files and state live (`paths`, `datadir`), the log format (`logs`) and the
Prometheus metrics (`metrics`). It imports nothing else of feedhub.
"""
