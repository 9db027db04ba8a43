"""The cluster fault test: three nodes as separate hosts (network namespaces
on a bridge), a PostgreSQL, a Redis and HAProxy of the test's own, a fleet of
simulated chargers, and the faults a cluster must survive. Runs only with
OCPP_CLUSTER_TEST=1, as root (test_cluster.py says what else it needs)."""
