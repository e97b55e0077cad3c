"""Page-shaped computations over the core: previews, one task's adaptation, comparisons, landscape views.

Each returns plain data (tensors, lists, frozen dataclasses) for the figure builders; none draws.
"""
