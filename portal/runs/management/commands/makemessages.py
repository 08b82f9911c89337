"""``makemessages`` that also collects the engine's sentences.

The engine (``connectivity/``) has no Django: it marks what a person reads with ``N_()`` (and
``NN_()`` for sentences about a number), see connectivity/i18n.py. xgettext is told those
keywords, so the catalogue holds them and the run pages can show steps in Russian.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=N_", "--keyword=NN_:1,2"]
