"""Data for views and exports, built from the model: call statistics, ..."""
