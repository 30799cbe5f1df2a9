"""Market data: candle files (CSV / CSV.gz / Parquet) import, Bybit REST download, the live Bybit public
WebSocket feed and the replay of stored candles, the candle store, the window reader and the resampler.

Entry points the rest of the desk calls:

- :func:`trading.marketdata.importer.import_candles`, :func:`~trading.marketdata.importer.import_funding`
- :func:`trading.marketdata.download.download_candles`, :func:`~trading.marketdata.download.download_funding`,
  :func:`trading.marketdata.instruments.download_instruments`
- :func:`trading.marketdata.reader.read_window`, :func:`~trading.marketdata.reader.read_range`
- :func:`trading.marketdata.resample.resample_frame`
- :class:`trading.marketdata.feed.FeedHandler` fed by :class:`~trading.marketdata.live.LiveFeed` or
  :class:`~trading.marketdata.replay.ReplayFeed`
"""
