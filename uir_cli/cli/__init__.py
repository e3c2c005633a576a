"""The command-line interface (typer). No torch import at module level."""
