using System.Net.Sockets;
using System.Text;
using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>sd_notify (hosts-and-tun.md §7.1 "sd_notify READY=1"): datagrams to NOTIFY_SOCKET, path or abstract "@name"; no-op when unset.</summary>
public sealed class SystemdNotifyTests
{
    private static Socket Listen(string name)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(name));
        socket.ReceiveTimeout = 5000;
        return socket;
    }

    private static string Receive(Socket socket)
    {
        var buffer = new byte[512];
        return Encoding.UTF8.GetString(buffer, 0, socket.Receive(buffer));
    }

    [Fact]
    public void Ready_and_stopping_arrive_on_a_path_socket()
    {
        using var dir = new TempDirectory();
        string path = dir.File("notify.sock");
        using var socket = Listen(path);
        var notify = new SystemdNotify(path);
        Assert.True(notify.IsEnabled);
        Assert.True(notify.Ready());
        Assert.Equal("READY=1", Receive(socket));
        Assert.True(notify.Stopping());
        Assert.Equal("STOPPING=1", Receive(socket));
    }

    [Fact]
    public void An_at_sign_names_an_abstract_socket()
    {
        string name = "fz-notify-test-" + Guid.NewGuid().ToString("N");
        using var socket = Listen("\0" + name);
        Assert.True(new SystemdNotify("@" + name).Ready());
        Assert.Equal("READY=1", Receive(socket));
    }

    [Fact]
    public void Without_NOTIFY_SOCKET_notifications_are_no_ops()
    {
        Assert.False(new SystemdNotify(null).Ready());
        Assert.False(new SystemdNotify("").IsEnabled);
    }

    [Fact]
    public void A_socket_nobody_listens_on_is_reported_not_thrown()
    {
        using var dir = new TempDirectory();
        Assert.False(new SystemdNotify(dir.File("nobody.sock")).Ready());
    }
}
