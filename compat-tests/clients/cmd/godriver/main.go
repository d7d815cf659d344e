// Command godriver runs one operation of the matrix driver contract (see
// package driver) with one of the Go clients or kcat:
//
//	godriver CLIENT OP --bootstrap host:port [flags]
//
// CLIENT is franz-go, sarama, kafka-go, confluent-kafka-go or kcat.
package main

import (
	"fmt"
	"os"

	"github.com/kafkazk/kafkazk/compat-tests/clients/driver"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Println("usage: godriver CLIENT OP --bootstrap host:port [flags]")
		os.Exit(2)
	}
	c, err := driver.ByName(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	os.Exit(driver.Main(c, os.Args[2:], os.Stdin, os.Stdout))
}
