"""The REST API (DRF): thin serializers and views over models, services and selectors."""
