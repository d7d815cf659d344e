// Package layering holds no code, only a test: it reads the module's import graph (go list) and fails on
// any import that breaks the package rules of DESIGN.md ("Packages" and "Rules of the house"):
//
//   - broker and controller never import each other; they talk the Kafka protocol;
//   - storage, protocol and zkmeta import no other package of the module (their own sub-packages aside);
//   - controller imports only zkmeta and protocol, broker only storage, zkmeta and protocol (and their own
//     sub-packages); cmd, compat-tests and bench may import anything;
//   - only zkmeta (and its sub-packages) imports the ZooKeeper client library, in tests too.
package layering
