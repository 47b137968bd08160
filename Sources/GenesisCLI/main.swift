import ArgumentParser
GenesisCommand.main()
