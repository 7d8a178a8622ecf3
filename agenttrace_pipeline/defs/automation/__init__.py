"""Automation people can leave running: the weekly regeneration, the source-change sensor, and the sensor that
evaluates the assets' automation conditions. All start STOPPED unless AGENTTRACE_AUTOMATION=1."""
