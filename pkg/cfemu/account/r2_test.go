package account

import "testing"

func TestBuckets(t *testing.T) {
	t.Parallel()
	st := newReady()
	for _, tt := range []struct {
		nb   NewBucket
		code int
	}{
		{NewBucket{Name: "A"}, 10005},
		{NewBucket{Name: "data", LocationHint: "mars"}, 10040},
		{NewBucket{Name: "data", StorageClass: "Cold"}, 10059},
	} {
		if _, err := st.CreateBucket(t0, tt.nb); code(err) != tt.code {
			t.Errorf("CreateBucket(%+v) = %v, want %d", tt.nb, err, tt.code)
		}
	}
	b, err := st.CreateBucket(t0, NewBucket{Name: "data", LocationHint: "WEUR"})
	if err != nil || b.Location != "weur" || b.StorageClass != "Standard" {
		t.Fatalf("CreateBucket = %+v, %v", b, err)
	}
	if _, err := st.CreateBucket(t0, NewBucket{Name: "data"}); code(err) != 10004 {
		t.Errorf("twice: %v", err)
	}
	for _, n := range []string{"data-2", "logs"} {
		if _, err := st.CreateBucket(t0, NewBucket{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	page, cursor := st.ListBuckets("data", "", 1)
	if len(page) != 1 || page[0].Name != "data" || cursor != "data" {
		t.Errorf("first page %v, cursor %q", page, cursor)
	}
	if page, cursor = st.ListBuckets("data", cursor, 1); len(page) != 1 || page[0].Name != "data-2" || cursor != "" {
		t.Errorf("second page %v, cursor %q", page, cursor)
	}
	PutObject(t0, b, "k", "text/plain", []byte("v"))
	if err := st.DeleteBucket("data"); code(err) != 10008 {
		t.Errorf("a bucket with objects: %v", err)
	}
	if o, err := Object(b, "k"); err != nil || o.ETag != "9e3669d19b675bd57058fd4664205d2a" {
		t.Errorf("Object = %+v, %v", o, err)
	}
	delete(b.Store, "k")
	if err := st.DeleteBucket("data"); err != nil || st.Buckets["data"] != nil {
		t.Errorf("DeleteBucket: %v", err)
	}
	st.Account.R2Enabled = false
	if err := st.R2Enabled(); code(err) != 10042 {
		t.Errorf("R2 off: %v", err)
	}
}
