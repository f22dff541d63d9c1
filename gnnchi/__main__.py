from gnnchi.cli import main

main()
