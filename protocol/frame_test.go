package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func sizePrefixed(size int32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(size))
	return append(b, body...)
}

func TestReadFrame(t *testing.T) {
	body := []byte("hello, kafka")
	tests := []struct {
		name    string
		input   []byte
		max     int32
		want    []byte
		wantErr error
	}{
		{name: "good", input: sizePrefixed(int32(len(body)), body), max: 100, want: body},
		{name: "empty frame", input: sizePrefixed(0, nil), max: 100, want: []byte{}},
		{name: "exactly max", input: sizePrefixed(int32(len(body)), body), max: int32(len(body)), want: body},
		{name: "negative", input: sizePrefixed(-1, body), max: 100, wantErr: ErrNegativeFrameSize},
		{name: "min int32", input: sizePrefixed(-1<<31, body), max: 100, wantErr: ErrNegativeFrameSize},
		{name: "too large 2GiB", input: sizePrefixed(1<<31-1, body), max: DefaultMaxRequestSize, wantErr: ErrFrameTooLarge},
		{name: "one over max", input: sizePrefixed(int32(len(body)), body), max: int32(len(body)) - 1, wantErr: ErrFrameTooLarge},
		{name: "truncated body", input: sizePrefixed(100, body), max: 1000, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated size", input: []byte{0, 0}, max: 1000, wantErr: io.ErrUnexpectedEOF},
		{name: "clean eof", input: nil, max: 1000, wantErr: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tt.input), tt.max, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("frame = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	in := append(sizePrefixed(3, []byte("abc")), sizePrefixed(4, []byte("defg"))...)
	r := bytes.NewReader(in)
	for _, want := range []string{"abc", "defg"} {
		got, err := ReadFrame(r, 100, buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want || &got[0] != &buf[:1][0] {
			t.Fatalf("got %q (reused=%v), want %q in the given buffer", got, &got[0] == &buf[:1][0], want)
		}
	}
}

// The error names the size, and nothing of that size is allocated.
func TestReadFrameTooLargeNamesSize(t *testing.T) {
	allocs := testing.AllocsPerRun(10, func() {
		_, err := ReadFrame(bytes.NewReader(sizePrefixed(1<<31-1, nil)), DefaultMaxRequestSize, nil)
		if err == nil {
			t.Fatal("expected an error")
		}
	})
	_, err := ReadFrame(bytes.NewReader(sizePrefixed(1<<31-1, nil)), DefaultMaxRequestSize, nil)
	if want := "2147483647"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("error %q does not name the size %s", err, want)
	}
	if allocs > 10 {
		t.Fatalf("%v allocations for a rejected frame", allocs)
	}
}
