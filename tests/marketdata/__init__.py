"""Market-data tests: import, download, feed, reader, resampler."""
