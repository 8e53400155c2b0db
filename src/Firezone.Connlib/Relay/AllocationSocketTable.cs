using System.Net.Sockets;

namespace Firezone.Connlib.Relay;

/// <summary>
/// Allocation sockets by (port, family): two arrays of 65,536 slots written by the control plane and read by the data
/// path without a lock (a reader sees the socket or null; a socket freed meanwhile fails its send, which is counted).
/// </summary>
internal sealed class AllocationSocketTable
{
    private readonly RelayUdpSocket?[] _v4 = new RelayUdpSocket?[65536];
    private readonly RelayUdpSocket?[] _v6 = new RelayUdpSocket?[65536];

    private RelayUdpSocket?[] Slots(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? _v6 : _v4;

    public RelayUdpSocket? Get(int port, AddressFamily family) => Volatile.Read(ref Slots(family)[port & 0xFFFF]);

    public void Set(RelayUdpSocket socket) => Volatile.Write(ref Slots(socket.Family)[socket.Port], socket);

    public RelayUdpSocket? Remove(int port, AddressFamily family) => Interlocked.Exchange(ref Slots(family)[port & 0xFFFF], null);

    /// <summary>Every socket (for shutdown).</summary>
    public IEnumerable<RelayUdpSocket> All()
    {
        foreach (var slots in new[] { _v4, _v6 })
        {
            foreach (var socket in slots)
            {
                if (socket is not null)
                {
                    yield return socket;
                }
            }
        }
    }
}
