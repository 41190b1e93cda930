module github.com/wicket-gw/wicket

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/hashicorp/golang-lru/v2 v2.0.7
	golang.org/x/crypto v0.59.0
	golang.org/x/time v0.16.0
)

require golang.org/x/sys v0.50.0 // indirect
