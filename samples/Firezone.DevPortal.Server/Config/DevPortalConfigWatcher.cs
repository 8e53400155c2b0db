namespace Firezone.DevPortal.Config;

/// <summary>
/// Watches one config file (FileSystemWatcher on its folder, so editors that replace the file are seen too) and calls
/// back once the file has stayed unchanged for the debounce interval.
/// </summary>
internal sealed class DevPortalConfigWatcher : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _debounce;
    private readonly TimeSpan _interval;

    public DevPortalConfigWatcher(string path, TimeSpan debounce, Action<string> changed)
    {
        string full = Path.GetFullPath(path);
        _interval = debounce;
        _debounce = new Timer(_ => changed(full));
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Touch();
        _watcher.Created += (_, _) => Touch();
        _watcher.Renamed += (_, _) => Touch();
        _watcher.EnableRaisingEvents = true;
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _debounce.Dispose();
    }

    private void Touch() => _debounce.Change(_interval, Timeout.InfiniteTimeSpan);
}
