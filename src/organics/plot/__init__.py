"""Plots: phase portraits of 2-D circuits, neuron portraits and time courses of N-D circuits.

Matplotlib with the Agg backend; every function returns the Figure (nothing is shown).
"""

from .portraits import (
    PortraitFixedPoint,
    axis_labels,
    find_fixed_points_2d,
    fixed_points_2d,
    neuron_portrait,
    phase_portrait,
    save_figure,
    select_neurons,
    settling_times,
    time_courses,
    vector_field_grid,
)

__all__ = [
    "PortraitFixedPoint",
    "axis_labels",
    "find_fixed_points_2d",
    "fixed_points_2d",
    "neuron_portrait",
    "phase_portrait",
    "save_figure",
    "select_neurons",
    "settling_times",
    "time_courses",
    "vector_field_grid",
]
