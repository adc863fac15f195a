// Package wire holds what both ends of plat's plugin protocol share: the
// go-plugin handshake, the gRPC plugin type and the conversions between
// platform values and protocol messages. It keeps protobuf types inside
// plugins/.
package wire
