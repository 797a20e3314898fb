// (capability/rlimit tables are added with the parser)
