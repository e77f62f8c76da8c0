"""Local KubeVirt test cluster: a Kubernetes API server on loopback with simulated controllers.

Layout: ``api/`` holds the API machinery (store, REST handlers, watch, patch, validation, auth),
``controllers/`` the simulated controllers (one file per family). See README.md.
"""
