module github.com/wicket-gw/wicket

go 1.26
