package store

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The durability test drives two helper processes made of this test
// binary: a store that keeps writing (the server) and a plain SQLite client
// (an outside process, like the sqlite3 shell).
const helperEnv = "KUBELINE_STORE_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "writer":
		os.Exit(writer(os.Getenv("KUBELINE_STORE_DB")))
	case "client":
		os.Exit(client(os.Getenv("KUBELINE_STORE_DB")))
	}
	os.Exit(m.Run())
}

// writer opens the store, writes 20 pipelines, then — as an importer in the
// server process once did — opens and closes the database file by another
// descriptor; it says "ready", and on "go" writes 20 more, each committed
// before it says "written", then waits to be killed.
func writer(db string) int {
	ctx := context.Background()
	s, err := Open(ctx, db)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	write := func(prefix string) error {
		for i := 0; i < 20; i++ {
			if err := s.CreatePipeline(ctx, &Pipeline{Name: fmt.Sprintf("%s-%d", prefix, i)}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write("before"); err != nil {
		fmt.Println(err)
		return 1
	}
	if f, err := os.Open(db); err == nil {
		f.Close() // POSIX locks of the process on the file drop here
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	in.Scan()
	if err := write("after"); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("written")
	in.Scan()
	return 0
}

// client opens the database as any SQLite client does, reads and closes.
func client(db string) int {
	c, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(2000)")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	var n int
	if err := c.QueryRow("SELECT COUNT(*) FROM pipelines").Scan(&n); err != nil {
		fmt.Println(err)
		return 1
	}
	c.Close()
	fmt.Println(n)
	return 0
}

// TestDurabilityAfterForeignClose is issue 15's finding 6: a process of the
// store had its file opened and closed by another descriptor (SQLite's
// POSIX locks drop then), an outside client opened and closed the database,
// the store went on writing, and was killed -9. Every write it had
// committed must be there after the restart (the outside client's close
// used to take the store for unused and delete its live WAL).
func TestDurabilityAfterForeignClose(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kubeline.db")
	w := exec.Command(os.Args[0], "-test.run=^$")
	w.Env = append(os.Environ(), helperEnv+"=writer", "KUBELINE_STORE_DB="+db)
	stdin, _ := w.StdinPipe()
	stdout, _ := w.StdoutPipe()
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		t.Helper()
		done := make(chan bool, 1)
		go func() { done <- lines.Scan() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the writer did not say %q", want)
		}
		if lines.Text() != want {
			t.Fatalf("writer: %q, want %q", lines.Text(), want)
		}
	}
	expect("ready")
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), helperEnv+"=client", "KUBELINE_STORE_DB="+db)
	if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "20" {
		t.Fatalf("outside client: %v %s", err, out)
	}
	io.WriteString(stdin, "go\n")
	expect("written")
	if err := w.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.Wait()
	s, err := Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var missing []string
	for _, prefix := range []string{"before", "after"} {
		for i := 0; i < 20; i++ {
			name := fmt.Sprintf("%s-%d", prefix, i)
			if _, err := s.GetPipelineByName(context.Background(), "", name); err != nil {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("after kill -9 and restart, %d committed writes are gone: %s", len(missing), strings.Join(missing, " "))
	}
}
