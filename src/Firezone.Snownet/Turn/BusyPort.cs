namespace Firezone.Snownet.Turn;

/// <summary>An allocation port the host found taken by another process: skipped by port draws until its deadline.</summary>
internal sealed class BusyPort(int port) : DeadlineEntry
{
    public int Port { get; } = port;
}
