package apiserver_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// TestLoad: 200 concurrent uploads, each followed by a run of the uploaded
// pipeline, over loopback: no 5xx, and exactly 200 runs exist.
func TestLoad(t *testing.T) {
	base := newServer(t)
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 50}}
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fw, _ := mw.CreateFormFile("uploadfile", "pipeline.yaml")
			fw.Write(data)
			mw.Close()
			res, err := client.Post(fmt.Sprintf("%s/pipelines/upload?name=load-%03d", base, i), mw.FormDataContentType(), &buf)
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Sprintf("upload %d: %d %s", i, res.StatusCode, body)
				return
			}
			id := between(string(body), `"pipeline_id":"`, `"`)
			run := fmt.Sprintf(`{"display_name":"load-%03d","pipeline_version_reference":{"pipeline_id":%q}}`, i, id)
			res, err = client.Post(base+"/runs", "application/json", bytes.NewReader([]byte(run)))
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Sprintf("run %d: %d %s", i, res.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	r := call(t, "GET", base+"/runs?page_size=1", nil)
	if r.body["total_size"] != float64(200) {
		t.Fatalf("total_size %v, want 200", r.body["total_size"])
	}
}

func between(s, start, end string) string {
	i := bytes.Index([]byte(s), []byte(start))
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := bytes.Index([]byte(s), []byte(end))
	if j < 0 {
		return ""
	}
	return s[:j]
}
