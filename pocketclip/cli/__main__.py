from pocketclip.cli import cli

cli()
