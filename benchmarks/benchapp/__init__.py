"""Signal receivers like a real site's, so that the benchmark's loads pay for
sending signals as they would on a site. No models: see apps.py."""
