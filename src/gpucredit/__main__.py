from gpucredit.cli.app import main

main()
