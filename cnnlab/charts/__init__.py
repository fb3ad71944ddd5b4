"""Pure chart functions: data in, a plotly Figure out; one module per page area."""
