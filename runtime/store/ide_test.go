package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testImages: standard images from the migration, a group's entry over a
// standard one of the same name in its catalog only, held by the group.
func testImages(t *testing.T, s *Store) {
	ctx := context.Background()
	std, err := s.ListImages(ctx, []string{})
	if err != nil || len(std) < 5 || !std[0].Standard() {
		t.Fatalf("standard images: %v %v", std, err)
	}
	mine := &Image{Group: "team", Name: "python", Image: "ghcr.io/team/python:3.12", Command: []string{"python3", "-m", "http.server", "$(PORT)"}, Owner: "ann"}
	if err := s.PutImage(ctx, mine, false); err != nil {
		t.Fatal(err)
	}
	if err := s.PutImage(ctx, &Image{Group: "team", Name: "python", Image: "x"}, false); !errors.Is(err, ErrConflict) {
		t.Fatalf("a taken name: %v", err)
	}
	team, err := s.ImageCatalog(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.ImageCatalog(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if team["python"].Image != mine.Image || other["python"].Image != "python:3.12-slim" || len(team["python"].Command) != 4 {
		t.Fatalf("catalogs: team %+v other %+v", team["python"], other["python"])
	}
	if o, err := s.Holding(ctx, KindImage, "team/python"); err != nil || o.Group != "team" || o.Owner != "ann" {
		t.Fatalf("holding: %+v %v", o, err)
	}
	if err := s.DeleteImage(ctx, "team", "python"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Holding(ctx, KindImage, "team/python"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("holding after delete: %v", err)
	}
	if err := s.DeleteImage(ctx, "team", "python"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// testIDEs: statuses recorded in order and mirrored in admission, an ended
// IDE's name reusable by its group only, a running one's not at all.
func testIDEs(t *testing.T, s *Store) {
	ctx := context.Background()
	i := &IDE{Name: "lab", Group: "team", Owner: "ann", Image: "python", ImageRef: "python:3.12-slim", GPUs: 2, Datasets: []string{"iris@v1"}}
	if err := s.CreateIDE(ctx, i); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAdmission(ctx, &RunAdmission{RunID: IDEAdmission("lab"), Kind: KindIDE, Status: StatusQueued, Group: "team", GPUs: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIDE(ctx, &IDE{Name: "lab", Group: "team"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("start a queued IDE again: %v", err)
	}
	for _, st := range []string{StatusStarting, StatusRunning, StatusRunning, StatusStopping, StatusStopped, StatusRunning} {
		if err := s.SetIDEStatus(ctx, "lab", st, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetIDE(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, h := range got.History {
		statuses = append(statuses, h.Status)
	}
	if diff := cmp.Diff([]string{"Queued", "Starting", "Running", "Stopping", "Stopped"}, statuses); diff != "" || got.FinishedAt.IsZero() {
		t.Fatalf("history (-want +got)\n%s", diff)
	}
	if a, err := s.GetAdmission(ctx, IDEAdmission("lab")); err != nil || a.Status != StatusStopped || a.Kind != KindIDE {
		t.Fatalf("admission: %+v %v", a, err)
	}
	if err := s.CreateIDE(ctx, &IDE{Name: "lab", Group: "other", Owner: "bob"}); !errors.Is(err, ErrTaken) {
		t.Fatalf("another group's name: %v", err)
	}
	if err := s.CreateIDE(ctx, &IDE{Name: "lab", Group: "team", Owner: "cy", Image: "x", ImageRef: "x"}); err != nil {
		t.Fatalf("restart an ended IDE: %v", err)
	}
	if o, err := s.Holding(ctx, KindIDE, "lab"); err != nil || o.Owner != "cy" {
		t.Fatalf("holding after restart: %+v %v", o, err)
	}
	list, err := s.ListIDEs(ctx, []string{"other"})
	if err != nil || len(list) != 0 {
		t.Fatalf("other group's list: %v %v", list, err)
	}
}
