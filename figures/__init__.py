"""Figure builders: typed data in, plotly figure out. No Streamlit, no training.

``style`` holds what every figure shares (fonts, colours, the base layout, log ticks, the chance
line, animation controls) and ``scale`` the presentation-mode zoom; one module per page's pictures.
"""
