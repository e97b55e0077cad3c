"""LEO Explorer's core: task families, models, meta-learning algorithms, evaluation,
trajectories, landscapes and checkpoints. Pure PyTorch; never imports Streamlit."""

__version__ = "0.1.0"
