#!/bin/bash
# devstack plugin of nova-delete-ext:
#   enable_plugin nova-delete-ext https://opendev.org/x/nova-delete-ext
# Settings and their defaults are in devstack/settings.

NOVA_DELETE_EXT_KNOWN_POLICIES="protect recycle capture verify"

# True if policy $1 is listed in NOVA_DELETE_EXT_POLICIES.
function nova_delete_ext_policy_enabled {
    [[ ",${NOVA_DELETE_EXT_POLICIES// /}," == *",$1,"* ]]
}

function install_nova_delete_ext {
    echo_summary "Installing nova-delete-ext into Nova's environment"
    setup_develop $NOVA_DELETE_EXT_DIR
}

# Load the extension in every Nova service by adding its notification
# driver, keeping the drivers already configured. nova-compute reads
# $NOVA_CPU_CONF, which devstack copies from $NOVA_CONF when it starts
# the service, after this phase.
function configure_nova_delete_ext_driver {
    local drivers
    drivers=$(iniget_multiline $NOVA_CONF oslo_messaging_notifications driver)
    if [[ -z "$drivers" ]]; then
        iniset $NOVA_CONF oslo_messaging_notifications driver nova_delete_ext
    elif ! echo "$drivers" | grep -qw nova_delete_ext; then
        iniadd $NOVA_CONF oslo_messaging_notifications driver nova_delete_ext
    fi
}

function configure_nova_delete_ext {
    echo_summary "Configuring nova-delete-ext in $NOVA_CONF"
    local policy
    for policy in ${NOVA_DELETE_EXT_POLICIES//,/ }; do
        if [[ " $NOVA_DELETE_EXT_KNOWN_POLICIES " != *" $policy "* ]]; then
            die $LINENO "Unknown policy '$policy' in" \
                "NOVA_DELETE_EXT_POLICIES, known:" \
                "$NOVA_DELETE_EXT_KNOWN_POLICIES"
        fi
    done

    configure_nova_delete_ext_driver
    iniset $NOVA_CONF delete_ext enabled $NOVA_DELETE_EXT_ENABLED
    iniset $NOVA_CONF delete_ext policies "${NOVA_DELETE_EXT_POLICIES// /}"
    if [[ -n "$NOVA_DELETE_EXT_RECORD_FILE" ]]; then
        mkdir -p "$(dirname $NOVA_DELETE_EXT_RECORD_FILE)"
        iniset $NOVA_CONF delete_ext record_file $NOVA_DELETE_EXT_RECORD_FILE
    fi

    if nova_delete_ext_policy_enabled protect; then
        iniset $NOVA_CONF delete_ext_protect metadata_key \
            $NOVA_DELETE_EXT_PROTECT_METADATA_KEY
        iniset $NOVA_CONF delete_ext_protect tag $NOVA_DELETE_EXT_PROTECT_TAG
        if [[ -n "$NOVA_DELETE_EXT_PROTECT_STATES" ]]; then
            iniset $NOVA_CONF delete_ext_protect states \
                $NOVA_DELETE_EXT_PROTECT_STATES
        fi
    fi

    if nova_delete_ext_policy_enabled recycle; then
        iniset $NOVA_CONF delete_ext_recycle retention \
            $NOVA_DELETE_EXT_RECYCLE_RETENTION
        local interval
        interval=$(iniget $NOVA_CONF DEFAULT reclaim_instance_interval)
        if [[ -z "$interval" || "$interval" -le 0 ]]; then
            iniset $NOVA_CONF DEFAULT reclaim_instance_interval \
                $NOVA_DELETE_EXT_RECLAIM_INSTANCE_INTERVAL
        fi
    fi

    if nova_delete_ext_policy_enabled capture; then
        mkdir -p $NOVA_DELETE_EXT_CAPTURE_DIR
        iniset $NOVA_CONF delete_ext_capture directory \
            $NOVA_DELETE_EXT_CAPTURE_DIR
        if [[ -n "$NOVA_DELETE_EXT_CAPTURE_STATES" ]]; then
            iniset $NOVA_CONF delete_ext_capture states \
                $NOVA_DELETE_EXT_CAPTURE_STATES
        fi
        if [[ -n "$NOVA_DELETE_EXT_CAPTURE_MAX_BYTES" ]]; then
            iniset $NOVA_CONF delete_ext_capture max_bytes \
                $NOVA_DELETE_EXT_CAPTURE_MAX_BYTES
        fi
    fi

    if nova_delete_ext_policy_enabled verify; then
        iniset $NOVA_CONF delete_ext_verify mode $NOVA_DELETE_EXT_VERIFY_MODE
        if [[ -n "$NOVA_DELETE_EXT_VERIFY_STATES" ]]; then
            iniset $NOVA_CONF delete_ext_verify states \
                $NOVA_DELETE_EXT_VERIFY_STATES
        fi
    fi
}

function configure_tempest_for_nova_delete_ext {
    echo_summary "Configuring Tempest for nova-delete-ext"
    local policy
    for policy in $NOVA_DELETE_EXT_KNOWN_POLICIES; do
        if nova_delete_ext_policy_enabled $policy; then
            iniset $TEMPEST_CONFIG delete_ext_feature_enabled $policy True
        else
            iniset $TEMPEST_CONFIG delete_ext_feature_enabled $policy False
        fi
    done
    iniset $TEMPEST_CONFIG delete_ext protect_metadata_key \
        $NOVA_DELETE_EXT_PROTECT_METADATA_KEY
    iniset $TEMPEST_CONFIG delete_ext protect_tag $NOVA_DELETE_EXT_PROTECT_TAG
}

if [[ "$1" == "stack" ]]; then
    case "$2" in
        install)
            install_nova_delete_ext
            ;;
        post-config)
            configure_nova_delete_ext
            ;;
        test-config)
            if is_service_enabled tempest; then
                configure_tempest_for_nova_delete_ext
            fi
            ;;
    esac
fi
