# Sourced by the scripts that run Windows binaries: one Wine prefix for the
# project, quiet, and no debugger popping up for a crashing child.
export WINEPREFIX="${WINEPREFIX:-$HOME/.cache/mp/wine}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=;winedbg.exe=d}"
