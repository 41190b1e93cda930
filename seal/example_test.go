package seal_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/wicket-gw/wicket/redact"
	"github.com/wicket-gw/wicket/seal"
)

// masterSecret stands in for a secret from the environment or a secret
// manager.
func masterSecret(b byte) []byte { return bytes.Repeat([]byte{b}, seal.MinSecretLen) }

func Example() {
	s, err := seal.New(seal.Key{Version: 1, Secret: masterSecret(0x01)}, nil, nil)
	if err != nil {
		panic(err)
	}
	// Seal a tenant's provider key before writing it to the tenant's row.
	ct, err := s.Seal([]byte("sk-tenant-7-key"), "tenant-7", "openai api key")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(ct), ct[:3])

	pt, err := s.Open(ct, "tenant-7", "openai api key")
	fmt.Println(string(pt), err)

	// The same bytes copied into another tenant's row do not open there.
	_, err = s.Open(ct, "tenant-8", "openai api key")
	fmt.Println(err)
	// Output:
	// 46 [1 1 1]
	// sk-tenant-7-key <nil>
	// seal: message authentication failed
}

func Example_rotation() {
	v1 := seal.Key{Version: 1, Secret: masterSecret(0x01)}
	v2 := seal.Key{Version: 2, Secret: masterSecret(0x02)}

	before, _ := seal.New(v1, nil, nil)
	row, _ := before.Seal([]byte("sk-old"), "tenant-7", "openai api key")

	// Step 1: deploy v2 as the current key, keeping v1 to open old rows.
	during, _ := seal.New(v2, []seal.Key{v1}, nil)

	// Step 2: reseal every row; write back only those that changed.
	resealed, changed, err := during.Reseal(row, "tenant-7", "openai api key")
	fmt.Println(resealed[2], changed, err)
	_, changed, _ = during.Reseal(resealed, "tenant-7", "openai api key")
	fmt.Println(changed)

	// Step 3: once no row changes any more, drop v1.
	after, _ := seal.New(v2, nil, nil)
	pt, err := after.Open(resealed, "tenant-7", "openai api key")
	fmt.Println(string(pt), err)
	_, err = after.Open(row, "tenant-7", "openai api key")
	fmt.Println(errors.Is(err, seal.ErrUnknownVersion), err)
	// Output:
	// 2 true <nil>
	// false
	// sk-old <nil>
	// true seal: unknown key version 1
}

func ExampleNew() {
	s, err := seal.New(seal.Key{Version: 3, Secret: masterSecret(0x03)}, nil,
		&seal.Options{Algorithm: seal.XChaCha20Poly1305})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Version(), s.Algorithm())

	_, err = seal.New(seal.Key{Version: 1, Secret: []byte("too short")}, nil, nil)
	fmt.Println(err)
	// Output:
	// 3 XChaCha20-Poly1305
	// seal: current key: Key.Secret is 9 bytes; need at least 32
}

func ExampleSealer_OpenSecret() {
	s, _ := seal.New(seal.Key{Version: 1, Secret: masterSecret(0x01)}, nil, nil)
	ct, _ := s.SealSecret(redact.NewSecret("sk-ant-123"), "deployment-4", "anthropic api key")

	key, err := s.OpenSecret(ct, "deployment-4", "anthropic api key")
	if err != nil {
		panic(err)
	}
	// Hand key to a provider's options; printing it shows nothing.
	fmt.Println(key, len(key.Reveal()))
	// Output:
	// [redacted] 10
}

func ExampleKey() {
	k := seal.Key{Version: 1, Secret: masterSecret(0x01)}
	fmt.Printf("%v\n", k)
	// Output:
	// seal.Key{Version: 1, Secret: [redacted]}
}
