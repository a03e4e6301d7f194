package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "`HOST:PORT` to listen on")
	list := flag.String("images", "", "image list `FILE` (JSON, see List)")
	flag.Parse()
	if *list == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: registry --addr HOST:PORT --images FILE")
		os.Exit(2)
	}
	reg, err := load(*list)
	if err != nil {
		log.Fatalf("registry: %v", err)
	}
	log.Printf("registry: %d images on %s", len(reg.images), *addr)
	log.Fatal(http.ListenAndServe(*addr, reg))
}

func load(path string) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l List
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("image list %s: %w", path, err)
	}
	return New(l)
}
