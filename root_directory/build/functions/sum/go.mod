module handler

go 1.23
