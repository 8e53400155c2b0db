using System.Net;

namespace Firezone.Snownet;

/// <summary>
/// A datagram a sans-IO engine wants sent: from <see cref="Source"/> (a local address whose IP the driver must send
/// from; null: any interface, as for traffic to relays) to <see cref="Destination"/>. <see cref="Payload"/> belongs
/// to the engine: it stays valid until the next call on the engine, so send it (or copy it) before calling again.
/// </summary>
/// <param name="Source">The local address to send from (only its IP matters; the port is the socket's), or null.</param>
/// <param name="Destination">Where to send it.</param>
/// <param name="Payload">The datagram.</param>
public readonly record struct Transmit(IPEndPoint? Source, IPEndPoint Destination, ReadOnlyMemory<byte> Payload)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Payload.Length} bytes {Source?.ToString() ?? "*"} → {Destination}";
}
