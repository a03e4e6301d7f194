package main

import "context"

// uiKey carries `kubeline server --ui DIR` to serveWith.
type uiKey struct{}

// withUI makes the server serve the Pipelines UI build in dir ("" none).
func withUI(ctx context.Context, dir string) context.Context {
	return context.WithValue(ctx, uiKey{}, dir)
}

func uiOf(ctx context.Context) string {
	dir, _ := ctx.Value(uiKey{}).(string)
	return dir
}
