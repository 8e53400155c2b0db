using System.Net.Sockets;
using System.Text;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// sd_notify(3) for <c>Type=notify</c> units: sends a state datagram such as <c>READY=1</c> to the Unix datagram socket
/// named by <c>NOTIFY_SOCKET</c> (a path, or an abstract name written with a leading <c>@</c>). Without
/// <c>NOTIFY_SOCKET</c> every call does nothing, as upstream's. Failures to send are reported, never thrown.
/// </summary>
public sealed class SystemdNotify
{
    /// <summary>The variable systemd sets for <c>Type=notify</c> services.</summary>
    public const string EnvironmentVariable = "NOTIFY_SOCKET";

    private readonly string? _socket;

    /// <summary>Uses <paramref name="notifySocket"/> (null or empty: notifications are no-ops).</summary>
    public SystemdNotify(string? notifySocket) => _socket = string.IsNullOrEmpty(notifySocket) ? null : notifySocket;

    /// <summary>Uses this process's <c>NOTIFY_SOCKET</c>.</summary>
    public static SystemdNotify FromEnvironment() => new(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>True when a socket is configured.</summary>
    public bool IsEnabled => _socket is not null;

    /// <summary>Sends <c>READY=1</c>. Returns false when disabled or the send failed.</summary>
    public bool Ready() => Notify("READY=1");

    /// <summary>Sends <c>STOPPING=1</c>. Returns false when disabled or the send failed.</summary>
    public bool Stopping() => Notify("STOPPING=1");

    /// <summary>Sends one datagram with <paramref name="state"/> (newline-separated assignments). Returns false when disabled or the send failed.</summary>
    public bool Notify(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_socket is null)
        {
            return false;
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            string name = _socket[0] == '@' ? "\0" + _socket[1..] : _socket;
            socket.SendTo(Encoding.UTF8.GetBytes(state), new UnixDomainSocketEndPoint(name));
            return true;
        }
        catch (Exception e) when (e is SocketException or ArgumentException or IOException)
        {
            return false;
        }
    }
}
