"""The app side of LEO Explorer: URL schema, the session's training runner, job slots, lecture presets,
caches and session keys. Imports ``leo_core`` and ``figures``; neither imports it.
"""
