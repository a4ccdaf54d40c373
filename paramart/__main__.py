from paramart.cli import main

main()
