from agenttrace_pipeline.cli import main

main()
