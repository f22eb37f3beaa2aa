module microapp.local/nettest

go 1.24
