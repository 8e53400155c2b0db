using System.Net;

namespace Firezone.Snownet.Ice;

/// <summary>
/// A datagram the agent wants sent. <see cref="Source"/> is the local base: a host address, or a relayed address
/// (the caller then wraps the payload in ChannelData towards that relay).
/// </summary>
internal readonly record struct IceTransmit(IPEndPoint Source, IPEndPoint Destination, byte[] Payload);
