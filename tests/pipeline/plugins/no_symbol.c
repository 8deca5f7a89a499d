/* A shared object that is not a tsflow plugin: no tsflow_plugin_stages. */
int tsft_not_a_plugin(void);
int tsft_not_a_plugin(void)
{
    return 42;
}
