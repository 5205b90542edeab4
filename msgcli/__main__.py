from msgcli import main

main()
